#pragma once
// SmallVector<T, N>: a std::vector-like sequence that keeps up to N elements inside the object and
// only goes to the heap (operator new) beyond that. Shapes, strides and autograd gradient lists are
// almost always short, so they cost no allocation — a training step creates thousands of them.
//
// The interface is the part of std::vector Ember uses (construction from a count, a range, an
// initializer list or a std::vector; push_back, insert, erase, resize, iterators, comparisons) plus an
// implicit conversion to std::vector for APIs that take one. Iterators are plain pointers and, as
// with std::vector, are invalidated by any operation that changes the size.
#include <algorithm>
#include <compare>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace ember {

template <typename T, std::size_t N>
class SmallVector {
 public:
  using value_type = T;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using reference = T&;
  using const_reference = const T&;
  using pointer = T*;
  using const_pointer = const T*;
  using iterator = T*;
  using const_iterator = const T*;
  using reverse_iterator = std::reverse_iterator<iterator>;
  using const_reverse_iterator = std::reverse_iterator<const_iterator>;

  SmallVector() noexcept = default;
  explicit SmallVector(size_type n) { resize(n); }
  SmallVector(size_type n, const T& value) { assign(n, value); }
  template <std::input_iterator It>
  SmallVector(It first, It last) {
    assign(first, last);
  }
  SmallVector(std::initializer_list<T> values) { assign(values.begin(), values.end()); }
  SmallVector(const std::vector<T>& v) { assign(v.begin(), v.end()); }  // NOLINT: a drop-in for std::vector
  SmallVector(const SmallVector& o) { assign(o.begin(), o.end()); }
  SmallVector(SmallVector&& o) noexcept(std::is_nothrow_move_constructible_v<T>) { take(std::move(o)); }
  ~SmallVector() {
    clear();
    release();
  }

  SmallVector& operator=(const SmallVector& o) {
    if (this != &o) assign(o.begin(), o.end());
    return *this;
  }
  SmallVector& operator=(SmallVector&& o) noexcept(std::is_nothrow_move_constructible_v<T>) {
    if (this != &o) {
      clear();
      release();
      take(std::move(o));
    }
    return *this;
  }
  SmallVector& operator=(std::initializer_list<T> values) {
    assign(values.begin(), values.end());
    return *this;
  }

  operator std::vector<T>() const { return std::vector<T>(begin(), end()); }  // NOLINT

  // ---- access ----
  size_type size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  size_type capacity() const noexcept { return capacity_; }
  static constexpr size_type inline_capacity() noexcept { return N; }
  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  T& operator[](size_type i) noexcept { return data_[i]; }
  const T& operator[](size_type i) const noexcept { return data_[i]; }
  T& at(size_type i) {
    if (i >= size_) throw std::out_of_range("SmallVector::at");
    return data_[i];
  }
  const T& at(size_type i) const {
    if (i >= size_) throw std::out_of_range("SmallVector::at");
    return data_[i];
  }
  T& front() noexcept { return data_[0]; }
  const T& front() const noexcept { return data_[0]; }
  T& back() noexcept { return data_[size_ - 1]; }
  const T& back() const noexcept { return data_[size_ - 1]; }

  iterator begin() noexcept { return data_; }
  iterator end() noexcept { return data_ + size_; }
  const_iterator begin() const noexcept { return data_; }
  const_iterator end() const noexcept { return data_ + size_; }
  const_iterator cbegin() const noexcept { return data_; }
  const_iterator cend() const noexcept { return data_ + size_; }
  reverse_iterator rbegin() noexcept { return reverse_iterator(end()); }
  reverse_iterator rend() noexcept { return reverse_iterator(begin()); }
  const_reverse_iterator rbegin() const noexcept { return const_reverse_iterator(end()); }
  const_reverse_iterator rend() const noexcept { return const_reverse_iterator(begin()); }

  // ---- modifiers ----
  void reserve(size_type n) {
    if (n > capacity_) grow_to(n);
  }
  void clear() noexcept {
    std::destroy(begin(), end());
    size_ = 0;
  }
  void push_back(const T& v) { emplace_back(v); }
  void push_back(T&& v) { emplace_back(std::move(v)); }
  template <typename... A>
  T& emplace_back(A&&... args) {
    if (size_ == capacity_) {
      // `args` may refer into this vector: build the element before moving the others.
      T tmp(std::forward<A>(args)...);
      grow_to(next_capacity(size_ + 1));
      ::new (static_cast<void*>(data_ + size_)) T(std::move(tmp));
    } else {
      ::new (static_cast<void*>(data_ + size_)) T(std::forward<A>(args)...);
    }
    return data_[size_++];
  }
  void pop_back() noexcept { std::destroy_at(data_ + --size_); }
  void resize(size_type n) {
    if (n < size_) {
      std::destroy(begin() + n, end());
    } else if (n > size_) {
      reserve(n);
      std::uninitialized_value_construct(data_ + size_, data_ + n);
    }
    size_ = n;
  }
  void resize(size_type n, const T& value) {
    if (n < size_) {
      std::destroy(begin() + n, end());
    } else if (n > size_) {
      T v = value;  // `value` may live in this vector
      reserve(n);
      std::uninitialized_fill(data_ + size_, data_ + n, v);
    }
    size_ = n;
  }
  void assign(size_type n, const T& value) {
    T v = value;
    clear();
    resize(n, v);
  }
  template <std::input_iterator It>
  void assign(It first, It last) {
    clear();
    if constexpr (std::forward_iterator<It>) reserve(static_cast<size_type>(std::distance(first, last)));
    for (; first != last; ++first) emplace_back(*first);
  }
  void assign(std::initializer_list<T> values) { assign(values.begin(), values.end()); }

  iterator insert(const_iterator pos, const T& v) { return insert(pos, size_type(1), v); }
  iterator insert(const_iterator pos, size_type n, const T& value) {
    SmallVector tmp(n, value);
    return insert(pos, tmp.begin(), tmp.end());
  }
  template <std::input_iterator It>
  iterator insert(const_iterator pos, It first, It last) {
    // Appends, then rotates into place: simple, and correct for ranges that alias this vector
    // (they are copied into `tmp` first).
    const size_type at = static_cast<size_type>(pos - begin());
    SmallVector tmp(first, last);
    reserve(size_ + tmp.size());
    for (T& v : tmp) emplace_back(std::move(v));
    std::rotate(begin() + at, begin() + (size_ - tmp.size()), end());
    return begin() + at;
  }
  iterator insert(const_iterator pos, std::initializer_list<T> values) {
    return insert(pos, values.begin(), values.end());
  }
  iterator erase(const_iterator pos) { return erase(pos, pos + 1); }
  iterator erase(const_iterator first, const_iterator last) {
    iterator f = begin() + (first - begin()), l = begin() + (last - begin());
    iterator new_end = std::move(l, end(), f);
    std::destroy(new_end, end());
    size_ -= static_cast<size_type>(l - f);
    return f;
  }
  void swap(SmallVector& o) {
    SmallVector tmp(std::move(o));
    o = std::move(*this);
    *this = std::move(tmp);
  }

  friend bool operator==(const SmallVector& a, const SmallVector& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend auto operator<=>(const SmallVector& a, const SmallVector& b) {
    return std::lexicographical_compare_three_way(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator==(const SmallVector& a, const std::vector<T>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  bool is_inline() const noexcept { return data_ == inline_data(); }
  T* inline_data() noexcept { return std::launder(reinterpret_cast<T*>(buffer_)); }
  const T* inline_data() const noexcept { return std::launder(reinterpret_cast<const T*>(buffer_)); }
  static size_type next_capacity(size_type need) { return std::max(need, 2 * N); }

  void grow_to(size_type n) {
    T* fresh = static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(alignof(T))));
    std::uninitialized_move(begin(), end(), fresh);
    std::destroy(begin(), end());
    release();
    data_ = fresh;
    capacity_ = n;
  }
  void release() noexcept {
    if (!is_inline()) ::operator delete(data_, std::align_val_t(alignof(T)));
    data_ = inline_data();
    capacity_ = N;
  }
  // Takes o's elements (o is left empty and inline).
  void take(SmallVector&& o) {
    if (o.is_inline()) {
      std::uninitialized_move(o.begin(), o.end(), data_);
      size_ = o.size_;
      o.clear();
    } else {
      data_ = o.data_;
      size_ = o.size_;
      capacity_ = o.capacity_;
      o.data_ = o.inline_data();
      o.size_ = 0;
      o.capacity_ = N;
    }
  }

  alignas(T) unsigned char buffer_[N * sizeof(T)];
  T* data_ = inline_data();
  size_type size_ = 0;
  size_type capacity_ = N;
};

}  // namespace ember
