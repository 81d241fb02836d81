-- The AMQP messages a consumer has applied, recorded in the same transaction as their effects, so a
-- message delivered twice (a redelivery after a lost ack, a producer's retry of an unconfirmed batch)
-- is applied once and the counters stay exact. One row per message, not per event: the proxy sends
-- usage in batches. Rows older than two days are pruned by the consumer.
CREATE TABLE consumed_messages (
    consumer    text        NOT NULL,
    message_id  text        NOT NULL,
    consumed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);
CREATE INDEX consumed_messages_consumed_at_idx ON consumed_messages (consumed_at);
