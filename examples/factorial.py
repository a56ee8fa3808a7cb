# Return the factorial of n (n >= 0), computed iteratively.
