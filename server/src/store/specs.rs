//! The spec catalogue.

use domain::catalogue::{PriceClass, Spec};
use domain::quantity::Fen;
use sqlx::AnyPool;

#[derive(sqlx::FromRow)]
struct RawSpec {
    id: i64,
    code: String,
    brand: String,
    name: String,
    price_class: i64,
    wholesale_fen: i64,
    retail_fen: i64,
    scarce: i64,
    is_new: i64,
    orderable: i64,
}

pub async fn list(pool: &AnyPool) -> sqlx::Result<Vec<Spec>> {
    let rows: Vec<RawSpec> = sqlx::query_as(
        "SELECT id, code, brand, name, price_class, wholesale_fen, retail_fen, scarce, is_new, orderable \
         FROM specs ORDER BY price_class, brand, name",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let price_class = u8::try_from(r.price_class)
                .ok()
                .and_then(PriceClass::new)
                .ok_or_else(|| {
                    sqlx::Error::Decode(format!("bad price class {}", r.price_class).into())
                })?;
            Ok(Spec {
                id: r.id,
                code: r.code,
                brand: r.brand,
                name: r.name,
                price_class,
                wholesale_per_carton: Fen(r.wholesale_fen),
                retail_per_carton: Fen(r.retail_fen),
                scarce: r.scarce != 0,
                new_product: r.is_new != 0,
                orderable: r.orderable != 0,
            })
        })
        .collect()
}

pub async fn count(pool: &AnyPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM specs")
        .fetch_one(pool)
        .await
}
