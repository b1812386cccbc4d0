// Sizes and names of xccl's data types and reduction operations.
#include "reduce.h"

namespace xpool::xccl {

size_t typeSize(xcclDataType_t type) {
  switch (type) {
    case xcclInt8:
    case xcclUint8:
      return 1;
    case xcclFloat16:
    case xcclBfloat16:
      return 2;
    case xcclInt32:
    case xcclUint32:
    case xcclFloat32:
      return 4;
    case xcclInt64:
    case xcclUint64:
    case xcclFloat64:
      return 8;
    default:
      return 0;
  }
}

const char *typeName(xcclDataType_t type) {
  switch (type) {
    case xcclInt8:
      return "int8";
    case xcclUint8:
      return "uint8";
    case xcclInt32:
      return "int32";
    case xcclUint32:
      return "uint32";
    case xcclInt64:
      return "int64";
    case xcclUint64:
      return "uint64";
    case xcclFloat16:
      return "float16";
    case xcclFloat32:
      return "float32";
    case xcclFloat64:
      return "float64";
    case xcclBfloat16:
      return "bfloat16";
    default:
      return "invalid";
  }
}

const char *opName(xcclRedOp_t op) {
  switch (op) {
    case xcclSum:
      return "sum";
    case xcclProd:
      return "prod";
    case xcclMax:
      return "max";
    case xcclMin:
      return "min";
    case xcclAvg:
      return "avg";
    default:
      return "invalid";
  }
}

}  // namespace xpool::xccl
