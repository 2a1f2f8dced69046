"""Stage 1, the image definition.

In: an image definition file (YAML) and command-line overrides. Out: one
validated, frozen ImageSpec per architecture. Every field is declared once, in
`spec.ImageSpec`; the loader, the command-line flags, the manifest's `image`
section and the field list in docs/image-definition.md all come from it.
"""
