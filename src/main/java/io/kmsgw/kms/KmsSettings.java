package io.kmsgw.kms;

/** The account and region this gateway serves. */
public record KmsSettings(String accountId, String region) {}
