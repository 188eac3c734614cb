"""The one sharded training loop shared by every model in sciml."""
