"""The messaging layer: the message bus, the transactional outbox and the event codec."""
