"""Unit tests of the labs, one module per lab (``zoo/labs/<lab>.py`` -> ``test_<lab>.py``)."""
