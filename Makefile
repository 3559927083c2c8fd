# Convenience wrapper for people who have make: every target just calls ./dev (see ./dev help).
.PHONY: demo test bench screenshots lint

demo test bench screenshots lint:
	./dev $@
