"""What every part of Genba ID shares and that belongs to none of them (imports no project package)."""
