"""The admin's day: what needs attention now (`attention`)."""
