// A small text table for terminals: aligned columns, optional ASCII borders,
// ANSI styles only when asked, and columns that wrap to fit a width.
#ifndef XPOOL_CLI_TABLE_H
#define XPOOL_CLI_TABLE_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace xpool::cli {

enum class Style { kPlain, kBold, kDim, kGreen, kYellow, kRed, kCyan };
enum class Align { kLeft, kRight, kCenter };

// A cell's text may hold '\n': its first line is drawn in `style`, the lines
// after it (details) in `detail_style`.
struct Cell {
  Cell() = default;
  Cell(std::string text_in, Style style_in = Style::kPlain)  // NOLINT: implicit on purpose
      : text(std::move(text_in)), style(style_in) {}
  Cell(const char *text_in, Style style_in = Style::kPlain)  // NOLINT: implicit on purpose
      : text(text_in), style(style_in) {}
  Cell(std::string text_in, Style style_in, Style detail_style_in)
      : text(std::move(text_in)), style(style_in), detail_style(detail_style_in) {}
  std::string text;
  Style style = Style::kPlain;
  Style detail_style = Style::kDim;
};

struct Column {
  std::string header;  // may hold '\n' for a two-line header
  Align align = Align::kLeft;
  bool wrap = false;     // may be narrowed (its text wrapped) to fit max_width
  size_t min_width = 8;  // narrowest a wrapping column gets (at least its header)
};

struct RenderOptions {
  bool color = false;    // emit ANSI styles
  size_t max_width = 0;  // 0: no limit
  bool borders = true;   // ASCII box; otherwise columns separated by spaces
  size_t indent = 0;     // spaces before every line
};

class Table {
 public:
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
  // Missing cells are empty; extra cells are ignored.
  void AddRow(std::vector<Cell> cells);
  std::string Render(const RenderOptions &options) const;
  // Columns the table takes without wrapping anything.
  size_t NaturalWidth(const RenderOptions &options) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<Cell>> rows_;
};

// Display width of one line of UTF-8 text (code points; no wide-character
// handling).
size_t DisplayWidth(const std::string &text);
// Width of the widest '\n'-separated line of `text`.
size_t BlockWidth(const std::string &text);
// Wraps text into lines of at most `width` columns, preferring breaks after
// spaces, '/', ',' and '-'.
std::vector<std::string> Wrap(const std::string &text, size_t width);
// `text` in ANSI style `style` when `color`, else unchanged.
std::string Styled(const std::string &text, Style style, bool color);
// "512 MiB", "15.6 GiB", "1.2 TiB".
std::string FormatBytes(uint64_t bytes);

// Whether stdout is a terminal that should get colour (isatty, NO_COLOR,
// TERM=dumb).
bool StdoutWantsColor();
// Columns of the terminal on stdout, or 0 when stdout is not a terminal.
size_t StdoutTerminalWidth();

}  // namespace xpool::cli

#endif  // XPOOL_CLI_TABLE_H
