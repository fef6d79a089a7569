package io.kmsgw.hsm;

/**
 * Figures of a connected HSM: the session pool's gauges and counters, and how many of the expensive PKCS#11
 * calls were made (a steady-state request makes none of {@code C_OpenSession}, {@code C_Login},
 * {@code C_FindObjects}).
 */
public record HsmStats(
    int poolSize,
    int open,
    int inUse,
    int idle,
    int waiting,
    long borrowTimeouts,
    long evicted,
    long sessionsOpened,
    long logins,
    long findObjects) {}
