"""What one device *is*: the MTJ and its I-V, the compound SOT-MTJ, the paper's library, device files, variation, faults and SOT switching."""
