package io.kmsgw.policy;

/**
 * IAM's wildcard matching: {@code *} matches any run of characters (also none), {@code ?} exactly one. No regular
 * expressions: evaluation runs on the event loop for every request, and a pattern from a policy must not be able
 * to cost more than linear time.
 */
final class Wildcards {
  private Wildcards() {}

  static boolean hasWildcard(String pattern) {
    return pattern.indexOf('*') >= 0 || pattern.indexOf('?') >= 0;
  }

  /** Whether {@code value} matches {@code pattern}; greedy with backtracking to the last star, O(n·m) worst case. */
  static boolean matches(String pattern, String value, boolean ignoreCase) {
    int p = 0;
    int v = 0;
    int star = -1;
    int afterStar = 0;
    while (v < value.length()) {
      if (p < pattern.length() && (pattern.charAt(p) == '?' || same(pattern.charAt(p), value.charAt(v), ignoreCase))) {
        p++;
        v++;
      } else if (p < pattern.length() && pattern.charAt(p) == '*') {
        star = p++;
        afterStar = v;
      } else if (star >= 0) {
        p = star + 1;
        v = ++afterStar;
      } else {
        return false;
      }
    }
    while (p < pattern.length() && pattern.charAt(p) == '*') {
      p++;
    }
    return p == pattern.length();
  }

  private static boolean same(char a, char b, boolean ignoreCase) {
    return a == b || (ignoreCase && Character.toLowerCase(a) == Character.toLowerCase(b));
  }

  /**
   * ARN matching as {@code ArnLike} and the Resource element do it: the six colon-separated parts are matched one by
   * one, so a wildcard in one part never spans a colon into the next (the last part, the resource, may hold colons).
   */
  static boolean arnMatches(String pattern, String arn) {
    if (!hasWildcard(pattern)) {
      return pattern.equals(arn);
    }
    String[] p = pattern.split(":", 6);
    String[] a = arn.split(":", 6);
    if (p.length != 6 || a.length != 6) {
      // "*" alone, or something that is not an ARN: plain matching
      return matches(pattern, arn, false);
    }
    for (int i = 0; i < 6; i++) {
      if (!matches(p[i], a[i], false)) {
        return false;
      }
    }
    return true;
  }
}
