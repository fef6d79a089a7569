package io.kmsgw.policy;

import io.kmsgw.domain.Tag;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The rules AWS KMS applies to resource tags, beyond the model's lengths. */
public final class TagRules {
  /** AWS KMS quota: tags per key. */
  public static final int MAX_TAGS_PER_KEY = 50;

  private TagRules() {}

  public static void check(List<Tag> tags) {
    Set<String> seen = new HashSet<>();
    for (Tag t : tags) {
      if (t.key().startsWith("aws:")) {
        throw new KmsException(ErrorCode.TAG, "Tag keys beginning with 'aws:' are reserved for AWS.");
      }
      if (!seen.add(t.key())) {
        throw new KmsException(ErrorCode.TAG, "Duplicate tag key: each tag key may appear once.");
      }
    }
    if (tags.size() > MAX_TAGS_PER_KEY) {
      throw new KmsException(ErrorCode.LIMIT_EXCEEDED, "A key can have at most " + MAX_TAGS_PER_KEY + " tags.");
    }
  }
}
