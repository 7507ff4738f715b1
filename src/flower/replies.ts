import { create } from '@bufbuild/protobuf';
import { MetadataSchema } from '../gen/flwr/proto/message_pb.js';
import type { FlowerMessage } from './message_tree.js';

/** Flower's ErrorCode.CLIENT_APP_RAISED_EXCEPTION: the error of a message the client could not handle. */
const CLIENT_APP_RAISED_EXCEPTION = 2n;

/**
 * Metadata of the reply to `to`, as Flower's `Message(content, reply_to=...)` makes it: same run,
 * group and type, addressed back, created now, TTL cut to what `to` has left (the SuperLink
 * refuses replies outliving their instruction). `now` is in Unix seconds.
 */
export function replyMetadata(to: FlowerMessage, now: number): FlowerMessage['metadata'] {
  const m = to.metadata;
  return create(MetadataSchema, {
    runId: m.runId,
    messageId: '',
    srcNodeId: m.dstNodeId,
    dstNodeId: m.srcNodeId,
    replyToMessageId: m.messageId,
    groupId: m.groupId,
    ttl: m.createdAt + m.ttl - now,
    messageType: m.messageType,
    createdAt: now,
  });
}

/** The Flower error reply telling the ServerApp why `to` could not be handled. */
export function errorReplyOf(to: FlowerMessage, reason: string, now = Date.now() / 1000): FlowerMessage {
  return { metadata: replyMetadata(to, now), error: { code: CLIENT_APP_RAISED_EXCEPTION, reason } };
}
