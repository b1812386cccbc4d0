#include "table.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace xpool::cli {
namespace {

bool IsContinuationByte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Byte offset just past the first `columns` code points of `text`.
size_t PrefixBytes(std::string_view text, size_t columns) {
  size_t i = 0;
  size_t seen = 0;
  while (i < text.size()) {
    if (!IsContinuationByte(text[i])) {
      if (seen == columns) break;
      ++seen;
    }
    ++i;
  }
  return i;
}

std::string Pad(const std::string &text, size_t width, Align align, Style style, bool color) {
  const size_t used = DisplayWidth(text);
  const size_t space = width > used ? width - used : 0;
  size_t left = 0;
  if (align == Align::kRight) left = space;
  if (align == Align::kCenter) left = space / 2;
  return std::string(left, ' ') + Styled(text, style, color) + std::string(space - left, ' ');
}

std::vector<std::string> SplitLines(const std::string &text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return lines;
    start = end + 1;
  }
}

}  // namespace

size_t BlockWidth(const std::string &text) {
  size_t width = 0;
  for (const auto &line : SplitLines(text)) width = std::max(width, DisplayWidth(line));
  return width;
}

size_t DisplayWidth(const std::string &text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return !IsContinuationByte(c); }));
}

std::vector<std::string> Wrap(const std::string &text, size_t width) {
  std::vector<std::string> lines;
  if (width == 0) width = 1;
  std::string_view rest = text;
  while (DisplayWidth(std::string(rest)) > width) {
    const size_t limit = PrefixBytes(rest, width);
    // The last good break inside the first `width` columns, if any.
    size_t cut = std::string_view::npos;
    for (size_t i = limit; i > 0; --i) {
      const char c = rest[i - 1];
      // Not after the '/' that starts a path: "in: /" then "work/..." reads badly.
      const bool leading_slash = c == '/' && (i < 2 || rest[i - 2] == ' ');
      if (c == ' ' || c == ',' || c == '-' || (c == '/' && !leading_slash)) {
        cut = i;
        break;
      }
    }
    if (cut == std::string_view::npos || cut < limit / 3) cut = limit;  // hard break
    std::string line(rest.substr(0, cut));
    while (!line.empty() && line.back() == ' ') line.pop_back();
    lines.push_back(std::move(line));
    rest.remove_prefix(cut);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  }
  if (!rest.empty() || lines.empty()) lines.emplace_back(rest);
  return lines;
}

std::string Styled(const std::string &text, Style style, bool color) {
  if (!color || style == Style::kPlain || text.empty()) return text;
  const char *code = "";
  switch (style) {
    case Style::kPlain:
      return text;
    case Style::kBold:
      code = "1";
      break;
    case Style::kDim:
      code = "2";
      break;
    case Style::kGreen:
      code = "32";
      break;
    case Style::kYellow:
      code = "33";
      break;
    case Style::kRed:
      code = "31";
      break;
    case Style::kCyan:
      code = "36";
      break;
  }
  return std::string("\033[") + code + "m" + text + "\033[0m";
}

std::string FormatBytes(uint64_t bytes) {
  constexpr double kMiB = 1024.0 * 1024.0;
  constexpr double kGiB = kMiB * 1024.0;
  constexpr double kTiB = kGiB * 1024.0;
  const double value = static_cast<double>(bytes);
  char buffer[32];
  if (value >= kTiB) {
    std::snprintf(buffer, sizeof(buffer), "%.1f TiB", value / kTiB);
  } else if (value >= kGiB) {
    std::snprintf(buffer, sizeof(buffer), "%.1f GiB", value / kGiB);
  } else if (value >= kMiB) {
    std::snprintf(buffer, sizeof(buffer), "%.0f MiB", value / kMiB);
  } else if (value >= 1024.0) {
    std::snprintf(buffer, sizeof(buffer), "%.0f KiB", value / 1024.0);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%llu B", static_cast<unsigned long long>(bytes));
  }
  return buffer;
}

bool StdoutWantsColor() {
  if (isatty(STDOUT_FILENO) == 0) return false;
  const char *no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && no_color[0] != '\0') return false;
  const char *term = std::getenv("TERM");
  return term == nullptr || std::strcmp(term, "dumb") != 0;
}

size_t StdoutTerminalWidth() {
  if (isatty(STDOUT_FILENO) == 0) return 0;
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  const char *columns = std::getenv("COLUMNS");
  if (columns != nullptr) {
    const long parsed = std::strtol(columns, nullptr, 10);
    if (parsed > 0) return static_cast<size_t>(parsed);
  }
  return 80;
}

void Table::AddRow(std::vector<Cell> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

size_t Table::NaturalWidth(const RenderOptions &options) const {
  const size_t n = columns_.size();
  if (n == 0) return 0;
  size_t total = options.indent + (options.borders ? 3 * n + 1 : 2 * (n - 1));
  for (size_t c = 0; c < n; ++c) {
    size_t width = BlockWidth(columns_[c].header);
    for (const auto &row : rows_) width = std::max(width, BlockWidth(row[c].text));
    total += width;
  }
  return total;
}

std::string Table::Render(const RenderOptions &options) const {
  const size_t n = columns_.size();
  if (n == 0) return "";

  // Natural widths, then narrow the wrapping columns (widest first) to fit.
  std::vector<size_t> width(n);
  std::vector<size_t> floor(n);
  for (size_t c = 0; c < n; ++c) {
    width[c] = BlockWidth(columns_[c].header);
    for (const auto &row : rows_) width[c] = std::max(width[c], BlockWidth(row[c].text));
    floor[c] = columns_[c].wrap ? std::max(BlockWidth(columns_[c].header), columns_[c].min_width)
                                : width[c];
    floor[c] = std::min(floor[c], width[c]);
  }
  const size_t chrome = options.indent + (options.borders ? 3 * n + 1 : 2 * (n - 1));
  if (options.max_width > 0) {
    size_t total = chrome;
    for (const size_t w : width) total += w;
    while (total > options.max_width) {
      size_t pick = n;
      for (size_t c = 0; c < n; ++c) {
        if (width[c] > floor[c] && (pick == n || width[c] > width[pick])) pick = c;
      }
      if (pick == n) break;  // nothing left to narrow: let the terminal wrap
      --width[pick];
      --total;
    }
  }

  const std::string indent(options.indent, ' ');
  std::string rule;
  if (options.borders) {
    rule = indent + "+";
    for (size_t c = 0; c < n; ++c) rule += std::string(width[c] + 2, '-') + "+";
    rule += "\n";
  }

  std::string out;
  auto emit_row = [&](const std::vector<Cell> &cells, bool header) {
    // Each column's wrapped lines, and whether each is a detail line.
    std::vector<std::vector<std::string>> lines(n);
    std::vector<std::vector<bool>> detail(n);
    size_t height = 1;
    for (size_t c = 0; c < n; ++c) {
      bool first = true;
      for (const auto &logical : SplitLines(cells[c].text)) {
        for (auto &part : Wrap(logical, width[c])) {
          lines[c].push_back(std::move(part));
          detail[c].push_back(!first);
        }
        first = false;
      }
      height = std::max(height, lines[c].size());
    }
    for (size_t line = 0; line < height; ++line) {
      std::string text = indent + (options.borders ? "| " : "");
      for (size_t c = 0; c < n; ++c) {
        const bool present = line < lines[c].size();
        const std::string &part = present ? lines[c][line] : std::string();
        const Align align = header ? Align::kLeft : columns_[c].align;
        const Style style = header                       ? Style::kBold
                            : present && detail[c][line] ? cells[c].detail_style
                                                         : cells[c].style;
        text += Pad(part, width[c], align, style, options.color);
        if (c + 1 < n) text += options.borders ? " | " : "  ";
      }
      if (options.borders) {
        text += " |";
      } else {
        while (!text.empty() && text.back() == ' ') text.pop_back();
      }
      out += text + "\n";
    }
  };

  std::vector<Cell> header;
  header.reserve(n);
  for (const auto &column : columns_)
    header.emplace_back(column.header, Style::kBold, Style::kBold);
  out += rule;
  emit_row(header, true);
  out += rule;
  for (const auto &row : rows_) emit_row(row, false);
  if (!rows_.empty()) out += rule;
  return out;
}

}  // namespace xpool::cli
