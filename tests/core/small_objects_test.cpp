// SmallVector (Shape, Strides, autograd's Gradients) and the small-object pool.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ember/core/pool.hpp"
#include "ember/core/shape.hpp"
#include "ember/core/small_vector.hpp"

using namespace ember;

TEST(SmallVector, BehavesLikeAVectorInlineAndOnTheHeap) {
  Shape s{2, 3};
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.capacity(), static_cast<std::size_t>(kMaxDims));
  s.insert(s.begin(), 7);
  s.push_back(9);
  EXPECT_EQ(s, (Shape{7, 2, 3, 9}));
  s.erase(s.begin() + 1);
  EXPECT_EQ(s, (Shape{7, 3, 9}));
  // Past the inline capacity it moves to the heap and keeps its values.
  for (int64_t i = 0; i < 20; ++i) s.push_back(i);
  EXPECT_EQ(s.size(), 23u);
  EXPECT_EQ(s[3], 0);
  EXPECT_EQ(s.back(), 19);
  Shape moved = std::move(s);
  EXPECT_EQ(moved.size(), 23u);
  EXPECT_TRUE(s.empty());
  // Conversions from and to std::vector, comparisons.
  std::vector<int64_t> v = Shape{4, 5};
  EXPECT_EQ(Shape(v), (Shape{4, 5}));
  EXPECT_LT((Shape{1, 2}), (Shape{1, 3}));
  EXPECT_EQ(to_string(Shape{28, 28, 1}), "[28,28,1]");
}

TEST(SmallVector, HoldsNonTrivialElements) {
  SmallVector<std::string, 2> names{"a", "b"};
  names.push_back(std::string(40, 'x'));  // to the heap, strings moved
  names.insert(names.begin(), "first");
  EXPECT_EQ(names.size(), 4u);
  EXPECT_EQ(names[0], "first");
  EXPECT_EQ(names[3], std::string(40, 'x'));
  SmallVector<std::string, 2> copy = names;
  names.clear();
  EXPECT_EQ(copy[1], "a");
  copy.resize(1);
  EXPECT_EQ(copy, (SmallVector<std::string, 2>{"first"}));
}

TEST(Pool, ReusesBlocksAndAcceptsFreesFromOtherThreads) {
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(pool_allocate(48));
  for (void* p : blocks) pool_deallocate(p, 48);
  const std::size_t chunks = pool_system_chunks();
  // Freed blocks are taken again: no new chunk for the same number of blocks.
  blocks.clear();
  for (int i = 0; i < 1000; ++i) blocks.push_back(pool_allocate(48));
  EXPECT_EQ(pool_system_chunks(), chunks);
  // Objects made here and freed on another thread (which then exits) come back to the shared lists.
  std::thread t([&] {
    for (void* p : blocks) pool_deallocate(p, 48);
  });
  t.join();
  blocks.clear();
  for (int i = 0; i < 1000; ++i) blocks.push_back(pool_allocate(48));
  EXPECT_EQ(pool_system_chunks(), chunks);
  for (void* p : blocks) pool_deallocate(p, 48);
  // make_pooled objects work like make_shared ones.
  auto s = make_pooled<std::string>(100, 'y');
  std::weak_ptr<std::string> w = s;
  EXPECT_EQ(s->size(), 100u);
  s.reset();
  EXPECT_TRUE(w.expired());
}
