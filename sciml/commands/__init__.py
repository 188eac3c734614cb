"""Sub-command modules of the ``sciml`` console script (see ``sciml.cli``)."""
