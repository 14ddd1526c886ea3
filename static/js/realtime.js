// Real-time client (the real-time issue replaces this minimal version).
