package io.kmsgw.domain;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * One grant on one key, as the metadata store keeps it. Immutable.
 *
 * @param grantId 64 lower-case hex characters (AWS's form), random
 * @param name the CreateGrant Name, or null
 * @param granteePrincipal the principal ARN the grant gives permissions to
 * @param retiringPrincipal the principal ARN that may retire the grant, or null
 * @param issuingAccount the account root ARN of the key's account ({@code arn:aws:iam::<account>:root})
 * @param operations the grant operations, in the order the request gave them, without duplicates
 * @param constraints the encryption context constraints ({@link Constraints#NONE} when there are none)
 */
public record Grant(UUID keyId, String grantId, String name, Instant createdAt, String granteePrincipal,
    String retiringPrincipal, String issuingAccount, List<String> operations, Constraints constraints) {

  public Grant {
    Objects.requireNonNull(keyId);
    Objects.requireNonNull(grantId);
    Objects.requireNonNull(createdAt);
    Objects.requireNonNull(granteePrincipal);
    Objects.requireNonNull(issuingAccount);
    operations = List.copyOf(operations);
    constraints = constraints == null ? Constraints.NONE : constraints;
  }

  /**
   * EncryptionContextEquals and EncryptionContextSubset; either may be null (absent). Maps are copied and keep no
   * particular order.
   */
  public record Constraints(Map<String, String> encryptionContextEquals, Map<String, String> encryptionContextSubset) {
    public static final Constraints NONE = new Constraints(null, null);

    public Constraints {
      encryptionContextEquals = encryptionContextEquals == null ? null : Map.copyOf(encryptionContextEquals);
      encryptionContextSubset = encryptionContextSubset == null ? null : Map.copyOf(encryptionContextSubset);
    }

    public boolean isEmpty() {
      return encryptionContextEquals == null && encryptionContextSubset == null;
    }
  }
}
