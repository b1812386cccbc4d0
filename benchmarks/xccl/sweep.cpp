#include "sweep.h"

namespace xccl_bench {

void sweep(const Options &options, Coll coll, const std::string &variant, int nranks,
           Report &report, const MemcpyCeiling &ceiling, const MeasureFn &measure) {
  const size_t type_size = typeSize(options.type);
  report.beginSection(coll, variant);
  for (size_t size : sizeList(options.min_bytes, options.max_bytes, options.step_factor)) {
    const Shape shape = shapeOf(coll, size, type_size, nranks);
    // Fewer elements than ranks: nothing to move, and nccl-tests' 0-byte
    // rows carry no information.
    if (shape.count == 0) continue;
    Row row;
    row.bytes = shape.bytes(type_size);
    row.count = shape.count;
    row.type = ncclTestsTypeName(options.type);
    row.redop = isReduction(coll) ? redOpName(options.op) : "none";
    row.root = isRooted(coll) ? options.root : -1;
    row.out_of_place = measure(shape, false);
    if (shape.has_in_place) row.in_place = measure(shape, true);
    row.memcpy_gbps = ceiling.at(row.bytes);
    report.addRow(row);
  }
}

long sweepAll(const Options &options, int nranks, Report &report, const MemcpyCeiling &ceiling,
              const MeasureCollFn &measure, const std::function<bool(Coll)> &skip) {
  for (Coll coll : options.colls) {
    if (skip(coll)) continue;
    sweep(options, coll, "", nranks, report, ceiling,
          [&](const Shape &shape, bool in_place) { return measure(coll, shape, in_place); });
  }
  report.finish();
  report.writeJson(options);
  return report.wrongTotal();
}

std::vector<size_t> rowBytes(const Options &options, int nranks) {
  const size_t type_size = typeSize(options.type);
  std::vector<size_t> bytes;
  for (Coll coll : options.colls) {
    for (size_t size : sizeList(options.min_bytes, options.max_bytes, options.step_factor)) {
      bytes.push_back(shapeOf(coll, size, type_size, nranks).bytes(type_size));
    }
  }
  return bytes;
}

}  // namespace xccl_bench
