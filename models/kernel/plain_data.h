// Compile-time checks that a type is plain data: trivially copyable and free of pointers, also
// inside nested structs and std::arrays. TLM extensions must carry only such data (metadata by
// value, never a host pointer to a model object nor code): testbenches/unit/kernel/
// test_extensions.cpp asserts it for every extension in models/.
//
// How: a plain aggregate's fields are counted by brace-initialising it from objects that convert
// to anything, then named by a structured binding; each field must be arithmetic, an enum, a
// std::array of plain data or a plain aggregate again. Anything else (a pointer, std::function,
// std::vector, a class with private members or a C array) is not plain. Up to 16 fields.
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace cimtlm::kernel {

namespace plain_detail {

// Converts to any field type (declared only: used in unevaluated contexts).
struct AnyField {
  template <typename T>
  operator T() const noexcept;
};

template <typename T, typename Indices, typename = void>
struct BraceConstructible : std::false_type {};
template <typename T, std::size_t... I>
struct BraceConstructible<T, std::index_sequence<I...>,
                          std::void_t<decltype(T{(static_cast<void>(I), AnyField{})...})>>
    : std::true_type {};

// The number of fields of aggregate T (the most initialisers it takes, up to kMaxFields).
constexpr std::size_t kMaxFields = 16;
template <typename T, std::size_t N = kMaxFields + 1>
constexpr std::size_t field_count() {
  if constexpr (N == 0) {
    return 0;
  } else if constexpr (BraceConstructible<T, std::make_index_sequence<N>>::value) {
    return N;
  } else {
    return field_count<T, N - 1>();
  }
}

template <typename... Fields>
struct FieldList {};
struct Unsupported {};

template <typename T>
using Bare = std::remove_cv_t<std::remove_reference_t<T>>;

// The types of T's fields, by a structured binding (never called: its return type is the answer).
template <typename T>
auto fields_of(const T& t) {
  constexpr std::size_t n = field_count<T>();
  if constexpr (n == 0) {
    return FieldList<>{};
  } else if constexpr (n == 1) {
    const auto& [f0] = t;
    return FieldList<Bare<decltype(f0)>>{};
  } else if constexpr (n == 2) {
    const auto& [f0, f1] = t;
    return FieldList<Bare<decltype(f0)>, Bare<decltype(f1)>>{};
  } else if constexpr (n == 3) {
    const auto& [f0, f1, f2] = t;
    return FieldList<Bare<decltype(f0)>, Bare<decltype(f1)>, Bare<decltype(f2)>>{};
  } else if constexpr (n == 4) {
    const auto& [f0, f1, f2, f3] = t;
    return FieldList<Bare<decltype(f0)>, Bare<decltype(f1)>, Bare<decltype(f2)>,
                     Bare<decltype(f3)>>{};
  } else if constexpr (n == 5) {
    const auto& [f0, f1, f2, f3, f4] = t;
    return FieldList<Bare<decltype(f0)>, Bare<decltype(f1)>, Bare<decltype(f2)>, Bare<decltype(f3)>,
                     Bare<decltype(f4)>>{};
  } else if constexpr (n == 6) {
    const auto& [f0, f1, f2, f3, f4, f5] = t;
    return FieldList<Bare<decltype(f0)>, Bare<decltype(f1)>, Bare<decltype(f2)>, Bare<decltype(f3)>,
                     Bare<decltype(f4)>, Bare<decltype(f5)>>{};
  } else if constexpr (n == 7) {
    const auto& [f0, f1, f2, f3, f4, f5, f6] = t;
    return FieldList<Bare<decltype(f0)>, Bare<decltype(f1)>, Bare<decltype(f2)>, Bare<decltype(f3)>,
                     Bare<decltype(f4)>, Bare<decltype(f5)>, Bare<decltype(f6)>>{};
  } else if constexpr (n == 8) {
    const auto& [f0, f1, f2, f3, f4, f5, f6, f7] = t;
    return FieldList<Bare<decltype(f0)>, Bare<decltype(f1)>, Bare<decltype(f2)>, Bare<decltype(f3)>,
                     Bare<decltype(f4)>, Bare<decltype(f5)>, Bare<decltype(f6)>,
                     Bare<decltype(f7)>>{};
  } else if constexpr (n == 9) {
    const auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8] = t;
    return FieldList<Bare<decltype(f0)>, Bare<decltype(f1)>, Bare<decltype(f2)>, Bare<decltype(f3)>,
                     Bare<decltype(f4)>, Bare<decltype(f5)>, Bare<decltype(f6)>, Bare<decltype(f7)>,
                     Bare<decltype(f8)>>{};
  } else if constexpr (n == 10) {
    const auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9] = t;
    return FieldList<Bare<decltype(f0)>, Bare<decltype(f1)>, Bare<decltype(f2)>, Bare<decltype(f3)>,
                     Bare<decltype(f4)>, Bare<decltype(f5)>, Bare<decltype(f6)>, Bare<decltype(f7)>,
                     Bare<decltype(f8)>, Bare<decltype(f9)>>{};
  } else if constexpr (n == 11) {
    const auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10] = t;
    return FieldList<Bare<decltype(f0)>, Bare<decltype(f1)>, Bare<decltype(f2)>, Bare<decltype(f3)>,
                     Bare<decltype(f4)>, Bare<decltype(f5)>, Bare<decltype(f6)>, Bare<decltype(f7)>,
                     Bare<decltype(f8)>, Bare<decltype(f9)>, Bare<decltype(f10)>>{};
  } else if constexpr (n == 12) {
    const auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11] = t;
    return FieldList<Bare<decltype(f0)>, Bare<decltype(f1)>, Bare<decltype(f2)>, Bare<decltype(f3)>,
                     Bare<decltype(f4)>, Bare<decltype(f5)>, Bare<decltype(f6)>, Bare<decltype(f7)>,
                     Bare<decltype(f8)>, Bare<decltype(f9)>, Bare<decltype(f10)>,
                     Bare<decltype(f11)>>{};
  } else if constexpr (n == 13) {
    const auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12] = t;
    return FieldList<Bare<decltype(f0)>, Bare<decltype(f1)>, Bare<decltype(f2)>, Bare<decltype(f3)>,
                     Bare<decltype(f4)>, Bare<decltype(f5)>, Bare<decltype(f6)>, Bare<decltype(f7)>,
                     Bare<decltype(f8)>, Bare<decltype(f9)>, Bare<decltype(f10)>,
                     Bare<decltype(f11)>, Bare<decltype(f12)>>{};
  } else if constexpr (n == 14) {
    const auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13] = t;
    return FieldList<Bare<decltype(f0)>, Bare<decltype(f1)>, Bare<decltype(f2)>, Bare<decltype(f3)>,
                     Bare<decltype(f4)>, Bare<decltype(f5)>, Bare<decltype(f6)>, Bare<decltype(f7)>,
                     Bare<decltype(f8)>, Bare<decltype(f9)>, Bare<decltype(f10)>,
                     Bare<decltype(f11)>, Bare<decltype(f12)>, Bare<decltype(f13)>>{};
  } else if constexpr (n == 15) {
    const auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14] = t;
    return FieldList<Bare<decltype(f0)>, Bare<decltype(f1)>, Bare<decltype(f2)>, Bare<decltype(f3)>,
                     Bare<decltype(f4)>, Bare<decltype(f5)>, Bare<decltype(f6)>, Bare<decltype(f7)>,
                     Bare<decltype(f8)>, Bare<decltype(f9)>, Bare<decltype(f10)>,
                     Bare<decltype(f11)>, Bare<decltype(f12)>, Bare<decltype(f13)>,
                     Bare<decltype(f14)>>{};
  } else if constexpr (n == 16) {
    const auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15] = t;
    return FieldList<Bare<decltype(f0)>, Bare<decltype(f1)>, Bare<decltype(f2)>, Bare<decltype(f3)>,
                     Bare<decltype(f4)>, Bare<decltype(f5)>, Bare<decltype(f6)>, Bare<decltype(f7)>,
                     Bare<decltype(f8)>, Bare<decltype(f9)>, Bare<decltype(f10)>,
                     Bare<decltype(f11)>, Bare<decltype(f12)>, Bare<decltype(f13)>,
                     Bare<decltype(f14)>, Bare<decltype(f15)>>{};
  } else {
    return Unsupported{};
  }
}

template <typename T>
struct IsStdArray : std::false_type {};
template <typename T, std::size_t N>
struct IsStdArray<std::array<T, N>> : std::true_type {};

template <typename T>
constexpr bool pointer_free();

template <typename... Fields>
constexpr bool all_pointer_free(FieldList<Fields...>) {
  return (pointer_free<Fields>() && ...);
}
constexpr bool all_pointer_free(Unsupported) {
  return false;
}

template <typename T>
constexpr bool pointer_free() {
  if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
    return true;
  } else if constexpr (IsStdArray<T>::value) {
    return pointer_free<typename T::value_type>();
  } else if constexpr (std::is_class_v<T> && std::is_aggregate_v<T> && !std::is_polymorphic_v<T>) {
    return all_pointer_free(decltype(fields_of(std::declval<const T&>())){});
  } else {
    return false;  // pointers, references, unions, classes with private state or code
  }
}

}  // namespace plain_detail

// True when T is trivially copyable and holds no pointer (recursively): safe to carry by value
// across a socket into another platform.
template <typename T>
constexpr bool is_plain_data_v = std::is_trivially_copyable_v<T>&& plain_detail::pointer_free<T>();

// True when Extension (a tlm::tlm_extension<Extension>) holds nothing but one Data (as a base or a
// member) besides its virtual table: a member added next to Data makes it larger.
template <typename Extension, typename Base, typename Data>
constexpr bool is_plain_extension_v = std::is_base_of_v<Base, Extension>&& is_plain_data_v<Data> &&
                                      sizeof(Extension) <=
                                          (sizeof(Base) + sizeof(Data) + alignof(Extension) - 1) /
                                              alignof(Extension) * alignof(Extension);

}  // namespace cimtlm::kernel
