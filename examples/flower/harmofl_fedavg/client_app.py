"""Placeholder ClientApp: harmofl sites answer with their own TypeScript client (`harmofl join-flower`)."""

from flwr.app import Context, Message
from flwr.clientapp import ClientApp

app = ClientApp()


@app.train()
def train(msg: Message, context: Context) -> Message:
    """Never called on harmofl sites; fails loudly if a Python SuperNode joins this run."""
    raise RuntimeError("this run expects harmofl sites (harmofl join-flower), not Python ClientApps")
