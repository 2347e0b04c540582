"""The platform's components: one ComponentResource per capability, and the shared helpers they use."""
