"""The prescription service: prescriptions issued at appointments, verified against the appointment service."""
