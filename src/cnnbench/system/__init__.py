"""What the machine is and can do: fingerprint, ISA caps, measured peaks."""
