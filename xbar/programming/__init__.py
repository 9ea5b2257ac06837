"""Program-and-verify: writing a target state into every device of an array or a mapped network."""
