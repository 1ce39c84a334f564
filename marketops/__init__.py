"""The entry point only: the ``marketops`` CLI. It calls flows; nothing imports it."""
