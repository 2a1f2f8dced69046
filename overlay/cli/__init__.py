"""The command line: the only layer that parses arguments.

`main` builds the parser from the verb modules (image, verify, publish) and is
the one place an OverlayError becomes a message and an exit code. `args`
derives the image-definition flags from the field table.
"""
