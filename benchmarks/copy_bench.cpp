#include "copy_bench.h"

#include <cstdio>
#include <cstring>

namespace membench {

namespace {

std::string label(const BenchDevice &device) {
  return "device " + std::to_string(device.ordinal) + " (" + device.props.backend + ")";
}

}  // namespace

CopyRow CopyBench::row(const std::string &what, size_t bytes,
                       const std::vector<Contender> &contenders) {
  std::vector<std::function<void()>> ops;
  for (const Contender &contender : contenders) ops.push_back(contender.copy);
  const std::vector<double> seconds = medianSeconds(ops, plan_);
  for (const Contender &contender : contenders) {
    contender.clear();
    contender.copy();
    verify(host_.src, contender.result(), bytes,
           contender.name + " " + what + ", " + sizeLabel(bytes));
  }
  CopyRow row{bytes, static_cast<double>(bytes) / seconds[0] / 1e9, {}};
  for (size_t i = 1; i < contenders.size(); ++i) {
    row.raw_variants.emplace_back(contenders[i].name,
                                  static_cast<double>(bytes) / seconds[i] / 1e9);
  }
  return row;
}

const void *CopyBench::readBack(size_t bytes, const std::function<void()> &read) {
  std::memset(host_.dst, 0, bytes);
  read();
  return host_.dst;
}

std::vector<CopyBench::Contender> CopyBench::contenders(BenchDevice &dev, Direction direction,
                                                        size_t n) {
  RawDevice *raw = dev.raw.get();
  char *src = host_.src;
  char *dst = host_.dst;
  // xpool's result is read back through xpool, raw's through raw (variant
  // 0), so that neither depends on the other being right.
  auto xpool_clear = [n](void *buffer) {
    return [buffer, n] { xpCheck(xpMemset(buffer, 0, n), "xpMemset"); };
  };
  auto xpool_result = [this, dst, n](void *buffer) {
    return [this, buffer, dst, n] {
      return readBack(n, [&] { xpCheck(xpMemcpy(dst, buffer, n), "xpMemcpy D2H"); });
    };
  };
  auto raw_clear = [raw, n](Buf buffer) { return [raw, buffer, n] { raw->fill(buffer, 0, n); }; };
  auto raw_result = [this, raw, dst, n](Buf buffer) {
    return [this, raw, buffer, dst, n] {
      return readBack(n, [&] { raw->toHost(0, dst, buffer, n); });
    };
  };
  auto host_clear = [dst, n] { std::memset(dst, 0, n); };
  auto host_result = [dst]() -> const void * { return dst; };

  std::vector<Contender> all;
  switch (direction) {
    case Direction::kHostToDevice:
      all.push_back({"xpool", [&dev, src, n] { xpCheck(xpMemcpy(dev.a, src, n), "xpMemcpy H2D"); },
                     xpool_clear(dev.a), xpool_result(dev.a)});
      break;
    case Direction::kDeviceToHost:
      all.push_back({"xpool", [&dev, dst, n] { xpCheck(xpMemcpy(dst, dev.a, n), "xpMemcpy D2H"); },
                     host_clear, host_result});
      break;
    case Direction::kDeviceToDevice:
      all.push_back({"xpool", [&dev, n] { xpCheck(xpMemcpy(dev.b, dev.a, n), "xpMemcpy D2D"); },
                     xpool_clear(dev.b), xpool_result(dev.b)});
      break;
  }
  const std::vector<std::string> variants = raw ? raw->copyVariants() : std::vector<std::string>{};
  for (size_t v = 0; v < variants.size(); ++v) {
    const int variant = static_cast<int>(v);
    switch (direction) {
      case Direction::kHostToDevice:
        all.push_back({variants[v],
                       [raw, variant, src, n] { raw->toDevice(variant, Buf::kA, src, n); },
                       raw_clear(Buf::kA), raw_result(Buf::kA)});
        break;
      case Direction::kDeviceToHost:
        all.push_back({variants[v],
                       [raw, variant, dst, n] { raw->toHost(variant, dst, Buf::kA, n); },
                       host_clear, host_result});
        break;
      case Direction::kDeviceToDevice:
        all.push_back({variants[v],
                       [raw, variant, n] { raw->deviceToDevice(variant, Buf::kB, Buf::kA, n); },
                       raw_clear(Buf::kB), raw_result(Buf::kB)});
        break;
    }
  }
  return all;
}

std::vector<CopySection> CopyBench::device(BenchDevice &dev, const std::vector<size_t> &sizes) {
  const std::string name = label(dev);
  const std::string raw_note = dev.raw ? "" : dev.raw_note;
  const bool variants = dev.raw && dev.raw->copyVariants().size() > 1;
  struct Kind {
    Direction direction;
    CopySection section;
    const char *what;
  };
  // In this order: host -> device leaves the pattern in buffer a (xpool's
  // and raw's) up to the largest size, which the other two read.
  Kind kinds[] = {
      {Direction::kHostToDevice,
       {"h2d", "host -> device (from pinned host memory)", -1, dev.ordinal, raw_note, {}},
       "H2D"},
      {Direction::kDeviceToHost,
       {"d2h", "device -> host (into pinned host memory)", dev.ordinal, -1, raw_note, {}},
       "D2H"},
      {Direction::kDeviceToDevice,
       {"d2d",
        "device -> device (same device; GB/s counts bytes copied once)",
        dev.ordinal,
        dev.ordinal,
        raw_note,
        {}},
       "D2D"},
  };
  std::vector<CopySection> sections;
  for (Kind &kind : kinds) {
    printCopyHeader(kind.section, variants);
    for (size_t n : sizes) {
      if (n > dev.max_bytes) break;
      CopyRow measured =
          row(std::string(kind.what) + " on " + name, n, contenders(dev, kind.direction, n));
      printCopyRow(measured, variants);
      kind.section.rows.push_back(measured);
    }
    sections.push_back(kind.section);
  }
  const CopySection &d2d = sections.back();
  if (!d2d.rows.empty()) {
    const CopyRow &last = d2d.rows.back();
    char raw_text[32] = "n/a";
    if (last.raw()) std::snprintf(raw_text, sizeof raw_text, "%.2f GB/s", 2 * *last.raw());
    char note[200];
    std::snprintf(note, sizeof note,
                  "device -> device read+write memory traffic at %s: xpool %.2f GB/s, raw %s "
                  "(2 x the bytes copied)",
                  sizeLabel(last.bytes).c_str(), 2 * last.xpool_gbps, raw_text);
    printNote(note);
  }
  return sections;
}

CopySection CopyBench::cross(BenchDevice &from, BenchDevice &to, const std::vector<size_t> &sizes) {
  CopySection section{
      "cross",      label(from) + " -> " + label(to) + ", xpMemcpy device -> device",
      from.ordinal, to.ordinal,
      "",           {}};
  RawDevice *raw_from = from.raw.get();
  RawDevice *raw_to = to.raw.get();
  if (raw_from != nullptr && raw_to != nullptr) {
    section.raw_note = "raw D2H into pinned host memory, then raw H2D, by hand (no overlap)";
  } else {
    section.raw_note =
        "n/a (" + (raw_from == nullptr ? label(from) : label(to)) + " has no raw peer)";
  }
  const bool variants = raw_from != nullptr && raw_to != nullptr &&
                        raw_from->copyVariants().size() * raw_to->copyVariants().size() > 1;
  printCopyHeader(section, variants);
  char *dst = host_.dst;
  for (size_t n : sizes) {
    if (n > from.max_bytes || n > to.max_bytes) break;
    std::vector<Contender> contenders{
        {"xpool",
         [&from, &to, n] { xpCheck(xpMemcpy(to.b, from.a, n), "xpMemcpy across backends"); },
         [&to, n] { xpCheck(xpMemset(to.b, 0, n), "xpMemset"); },
         [this, &to, dst, n] {
           return readBack(n, [&] { xpCheck(xpMemcpy(dst, to.b, n), "xpMemcpy D2H"); });
         }}};
    if (raw_from != nullptr && raw_to != nullptr) {
      const auto downs = raw_from->copyVariants();
      const auto ups = raw_to->copyVariants();
      for (size_t d = 0; d < downs.size(); ++d) {
        for (size_t u = 0; u < ups.size(); ++u) {
          const int down = static_cast<int>(d), up = static_cast<int>(u);
          contenders.push_back({downs[d] + " + " + ups[u],
                                [raw_from, raw_to, down, up, dst, n] {
                                  raw_from->toHost(down, dst, Buf::kA, n);
                                  raw_to->toDevice(up, Buf::kB, dst, n);
                                },
                                [raw_to, n] { raw_to->fill(Buf::kB, 0, n); },
                                [this, raw_to, dst, n] {
                                  return readBack(n, [&] { raw_to->toHost(0, dst, Buf::kB, n); });
                                }});
        }
      }
    }
    section.rows.push_back(row(label(from) + " -> " + label(to), n, contenders));
    printCopyRow(section.rows.back(), variants);
  }
  return section;
}

}  // namespace membench
