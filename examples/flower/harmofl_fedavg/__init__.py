"""Flower FedAvg ServerApp for harmofl's TypeScript SuperNodes."""
