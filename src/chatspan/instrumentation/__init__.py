"""The live path: the only code that touches the openai SDK's internals."""
