package io.kmsgw.api.kms;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.kms.AliasService;
import io.kmsgw.kms.KmsSettings;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Turns a request's KeyId into a key id. {@link #any} accepts what AWS accepts for cryptographic operations and
 * DescribeKey: a key id, a key ARN, an alias name or an alias ARN. {@link #keyOnly} accepts what AWS accepts for
 * key management: a key id or key ARN (an alias answers NotFoundException). ARNs must name this gateway's account
 * and Region.
 */
public final class KeyIdResolver {
  private static final Pattern UUID_FORM =
      Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

  private final KmsSettings settings;
  private final AliasService aliases;

  public KeyIdResolver(KmsSettings settings, AliasService aliases) {
    this.settings = settings;
    this.aliases = aliases;
  }

  /** Key id, key ARN, alias name or alias ARN. */
  public UUID any(String keyId) {
    return resolve(keyId, true);
  }

  /** Key id or key ARN only. */
  public UUID keyOnly(String keyId) {
    return resolve(keyId, false);
  }

  private UUID resolve(String keyId, boolean aliasesAllowed) {
    if (UUID_FORM.matcher(keyId).matches()) {
      return UUID.fromString(keyId);
    }
    if (keyId.startsWith("alias/")) {
      return alias(keyId, aliasesAllowed);
    }
    if (keyId.startsWith("arn:")) {
      String[] parts = keyId.split(":", 6);
      if (parts.length != 6 || !parts[2].equals("kms") || parts[1].isEmpty() || parts[3].isEmpty()
          || !parts[4].matches("\\d{12}")) {
        throw new KmsException(ErrorCode.INVALID_ARN, "The KeyId is not a valid KMS ARN.");
      }
      String resource = parts[5];
      boolean ours = parts[3].equals(settings.region()) && parts[4].equals(settings.accountId());
      if (resource.startsWith("alias/")) {
        if (!ours) {
          throw KmsException.notFound("Alias " + keyId + " is not found.");
        }
        return alias(resource, aliasesAllowed);
      }
      if (!resource.startsWith("key/") || !UUID_FORM.matcher(resource.substring(4)).matches()) {
        throw new KmsException(ErrorCode.INVALID_ARN, "The KeyId is not a valid KMS key ARN.");
      }
      if (!ours) {
        throw KmsException.notFound("Key '" + keyId + "' does not exist in this gateway's account and region.");
      }
      return UUID.fromString(resource.substring(4));
    }
    throw KmsException.notFound("Invalid keyId: use a key id, key ARN" + (aliasesAllowed ? ", alias name or alias ARN"
        : "") + ".");
  }

  private UUID alias(String name, boolean allowed) {
    if (!allowed) {
      throw KmsException.notFound("This operation takes a key id or key ARN, not an alias (" + name + ").");
    }
    return aliases.resolve(name);
  }

  /** The ARN of a key id in this gateway's account and region (for the request log). */
  public String arn(UUID keyId) {
    return "arn:aws:kms:" + settings.region() + ":" + settings.accountId() + ":key/" + keyId;
  }
}
