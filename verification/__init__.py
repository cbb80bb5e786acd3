"""What checks the engine, shared by tests/ and benchmarks/ and installed with neither: an
independent oracle of the policy, the same policy as CLIPS rules, random report generators and
the repository's copies of the public vignettes. Not shipped in the wheel."""
