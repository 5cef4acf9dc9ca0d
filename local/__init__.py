"""The local runtime: the real system on one machine, against an AWS emulator (moto)."""
