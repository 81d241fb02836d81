"""The transactional outbox: events written with the change, relayed to RabbitMQ after commit."""
