package io.kmsgw.api.kms.ops;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Pages over a list held in memory (a key's tags, its rotations): the Marker is an opaque offset, checked so that
 * a forged one is InvalidMarkerException rather than a wrong page.
 */
final class Paging {
  private Paging() {}

  static <T> Map<String, Object> page(String listName, List<T> all, String marker, Integer limit, int defaultLimit,
      String prefix) {
    int from = 0;
    if (marker != null) {
      try {
        String s = new String(Base64.getUrlDecoder().decode(marker), StandardCharsets.UTF_8);
        if (!s.startsWith(prefix)) {
          throw new IllegalArgumentException();
        }
        from = Integer.parseInt(s.substring(prefix.length()));
      } catch (IllegalArgumentException e) {
        throw new KmsException(ErrorCode.INVALID_MARKER, "The Marker is not one this operation returned.");
      }
      if (from < 0 || from > all.size()) {
        throw new KmsException(ErrorCode.INVALID_MARKER, "The Marker is not one this operation returned.");
      }
    }
    int n = limit == null ? defaultLimit : limit;
    int to = Math.min(all.size(), from + n);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put(listName, all.subList(from, to));
    out.put("Truncated", to < all.size());
    if (to < all.size()) {
      out.put("NextMarker", Base64.getUrlEncoder().withoutPadding()
          .encodeToString((prefix + to).getBytes(StandardCharsets.UTF_8)));
    }
    return out;
  }
}
