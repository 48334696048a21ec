"""Bundled plugins: small packages discovered through the ``vaxchain.plugins`` entry point, exactly
like third-party ones."""
