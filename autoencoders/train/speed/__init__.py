"""What makes training fast, each piece beside the plain path and named with the benchmark that justifies it."""
