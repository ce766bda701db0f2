"""Native Windows helper programs (C sources) for the sandbox cluster; see :mod:`.build`."""
