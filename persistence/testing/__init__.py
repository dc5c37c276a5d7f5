"""Test support shipped with the library: a moto server fixture, request recording and the
contract suite that every backend (and every user repository) can run."""
