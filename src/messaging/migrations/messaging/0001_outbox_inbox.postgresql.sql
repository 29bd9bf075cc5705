-- The transactional outbox (messaging/outbox.h): events appended in a service's own
-- transaction, published by the relay in id order per aggregate. Times are Unix
-- milliseconds (wall clock: several processes compare them).
CREATE TABLE messaging_outbox (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- the order of appends
  aggregate TEXT NOT NULL,               -- topic/subject, or topic/#event-id without subject
  topic TEXT NOT NULL,
  event_id TEXT NOT NULL,
  envelope TEXT NOT NULL,                -- the CloudEvents JSON, encoded at append
  created_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,   -- failed publishes so far
  next_attempt_at BIGINT NOT NULL DEFAULT 0,
  last_error TEXT,
  claimed_by TEXT,                       -- the relay holding the lease
  claim_expires_at BIGINT,
  sent_at BIGINT
);
CREATE INDEX messaging_outbox_unsent ON messaging_outbox (aggregate, id) WHERE sent_at IS NULL;
CREATE INDEX messaging_outbox_sent ON messaging_outbox (sent_at) WHERE sent_at IS NOT NULL;

-- The consumer inbox (messaging/inbox.h): an event id per consumer group, recorded in the
-- handler's own transaction, so its effects apply once.
CREATE TABLE messaging_inbox (
  consumer_group TEXT NOT NULL,
  event_id TEXT NOT NULL,
  processed_at BIGINT NOT NULL,
  PRIMARY KEY (consumer_group, event_id)
);
CREATE INDEX messaging_inbox_processed ON messaging_inbox (processed_at);
