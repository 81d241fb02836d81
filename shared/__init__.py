"""PoolGate's shared package: what every service needs and nothing any one of them owns."""
