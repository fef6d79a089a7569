package io.kmsgw.hsm;

/** The custody attributes of a key object as the HSM reports them. */
public record KeyCustody(
    boolean token,
    boolean privateObject,
    boolean sensitive,
    boolean alwaysSensitive,
    boolean extractable,
    boolean neverExtractable) {

  /** True when the material can never have left the HSM in clear. */
  public boolean heldInCustody() {
    return token && privateObject && sensitive && alwaysSensitive && !extractable && neverExtractable;
  }
}
