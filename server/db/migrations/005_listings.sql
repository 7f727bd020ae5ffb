-- Regular-price buying (docs/flash-sales.md, "Listings"): a product's unallocated stock is a
-- standing deal row of kind 'regular' (its "listing"), so regular-price taps use the same
-- reservation scripts, claims (sold_units <= total_stock), rebuilds and settlement as flash deals.
--
-- A listing opens when its product first enters a room's showcase and takes the product's
-- stock (products.stock becomes 0 and stays the pool of units allocated to no deal row); a
-- flash deal on the product takes its units from the listing and gives back its unsold units
-- when it closes; a seller's stock change sets the listing's unsold units. A listing has no
-- room (room_id = ''): any room whose showcase holds the product sells from it.
ALTER TABLE deals ADD COLUMN kind text NOT NULL DEFAULT 'flash' CHECK (kind IN ('flash', 'regular'));

-- A listing may be empty (a product out of stock, or every unit in flash deals); a flash deal may not.
ALTER TABLE deals DROP CONSTRAINT deals_total_stock_check;
ALTER TABLE deals ADD CONSTRAINT deals_total_stock_check CHECK (total_stock > 0 OR (kind = 'regular' AND total_stock >= 0));

-- At most one open listing per product.
CREATE UNIQUE INDEX deals_one_listing ON deals (product_id) WHERE kind = 'regular' AND status <> 'closed';
