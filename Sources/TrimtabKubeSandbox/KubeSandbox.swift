// The sandbox Kubernetes API server: placeholder until it is written.
