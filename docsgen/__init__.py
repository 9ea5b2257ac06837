"""Build-time generators of the documentation site (mkdocs.yml's ``hooks:``).

Not part of the installed package: each page that must agree with the code is
generated from it when the site is built (``mkdocs build --strict``, run by
``tests/test_docs.py``): the parameter tables (:mod:`.parameters`), the CLI
reference (:mod:`.cli_reference`), the package layout and the API reference
pages (:mod:`.layout`).
"""
