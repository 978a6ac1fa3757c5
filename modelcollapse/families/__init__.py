"""One front end per family: its verification cases and its ``modelcollapse simulate`` command.

Every public module here defines ``FAMILY``, a
:class:`~modelcollapse.verify.registry.FamilyEntry`; the registry finds them by themselves, so a
new family is a new module (plus its theory and its simulator kernel), with no edit elsewhere.

- :mod:`~modelcollapse.families.gaussian` -- 1-D Gaussian refit;
- :mod:`~modelcollapse.families.discrete` -- categorical refit (Wright-Fisher).
"""
