"""`/internal/v1`: the API the other services call, authenticated by the shared service token."""
