#pragma once
// Error types. Every failure caused by user input (shapes, dtypes, arguments, files) is reported by
// throwing one of these; the message says what was expected and what came.
#include <stdexcept>
#include <string>

namespace ember {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class ShapeError : public Error {  // incompatible or invalid shapes
 public:
  using Error::Error;
};
class DTypeError : public Error {  // unsupported or mismatched element types
 public:
  using Error::Error;
};
class ValueError : public Error {  // bad argument values (axes, rates, names, state)
 public:
  using Error::Error;
};
class FormatError : public Error {  // malformed file contents or configs
 public:
  using Error::Error;
};
class IOError : public Error {  // files that cannot be opened, read or written
 public:
  using Error::Error;
};
class MemoryError : public Error {  // a tensor too large for the memory there is (size and shape in the message)
 public:
  using Error::Error;
};

}  // namespace ember
