"""The appointments subgraph: doctor profiles, working hours, bookings. Owns `Doctor` and `Appointment`."""
